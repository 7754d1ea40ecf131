"""What people think of each picture: ratings kept in a SQLAlchemy database (store.py, schema.py), checked
before they are stored (rating.py), a report that judges the judge (report.py), and the liked pictures out
as a dataset (export.py). Plain Python over SQLAlchemy: the UI and the command line both use it."""
