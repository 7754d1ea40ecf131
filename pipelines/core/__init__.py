"""What every pipeline shares and no model runs in: typed requests and results, the checks of every value a
request carries, the run control (progress, Stop, previews), a model's settings, and the PNG record."""
