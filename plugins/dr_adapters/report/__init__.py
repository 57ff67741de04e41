"""The run report (plain Python): built from task records, rendered as JSON and text."""
