"""The sync rules as plain functions over the link table: joining a change event into
upsert commands (`join`), planning a sink's write with the conflict rule (`writes`),
deterministic ids (`ids`) and business-entity name matching (`names`)."""
