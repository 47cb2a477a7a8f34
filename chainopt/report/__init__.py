"""Reports: a header of label/value pairs plus a tidy table, rendered by one module."""
