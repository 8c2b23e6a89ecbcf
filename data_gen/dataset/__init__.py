"""Dataset generation: record schema, shard writers, resumable generator, merge, Beam."""
