"""The plan vocabulary: run request, plan, waves, work units, types. Plain Python; imports nothing
above it (no adapter, no source, no Airflow), so every layer can share it."""
