"""Storage: the SQLAlchemy engine, the declarative base and the migrations."""
