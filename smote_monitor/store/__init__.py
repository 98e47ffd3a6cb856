"""The SQL store: engine, schema migrations and the repositories that read and write it."""

from smote_monitor.store.database import Store, StoreStatus

__all__ = ["Store", "StoreStatus"]
