"""The Prefect flows (`ingest`, `maintenance`) and their task wrappers (`steps`): where the
stages meet."""
