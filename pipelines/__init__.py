"""One module per task, plain Python: the UI, the API, the command line and the tests call these."""
