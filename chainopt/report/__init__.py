"""Reports: a header of label/value pairs plus tidy tables (cost, sweep), rendered by :mod:`chainopt.report.render`."""
