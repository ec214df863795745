"""Ray: trial fan-out, engine replicas as supervised actors, placement."""
