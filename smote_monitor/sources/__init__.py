"""Production rows in batches: files (CSV/Parquet), separately arriving labels; the SQL source
lands here too."""
