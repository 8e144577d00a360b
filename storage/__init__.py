"""The warehouse: a plain-Python library behind one handle, `Warehouse` (no Prefect here).

`connection` opens the file and migrates it, `migrations` lists the schema's steps, `schemas`
derives the rows from the models, `reads` and `writer` hold every statement the pipeline runs,
`spool` keeps batches that found the file locked, `export` copies it for analysts.
"""

from storage.connection import WarehouseError, WarehouseLocked, connect
from storage.warehouse import Compaction, Warehouse

__all__ = ["Compaction", "Warehouse", "WarehouseError", "WarehouseLocked", "connect"]
