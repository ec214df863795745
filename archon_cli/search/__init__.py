"""Search: space → params → spec; objective (budget, fidelity, failure policy); study; driver."""
