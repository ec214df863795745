"""Field types and upper bounds shared by the config schemas.

YAML is loose: `true` is not a count and `1e12` is not a token limit. Counts are strict ints (a
bool or a float is refused), real numbers are finite strict floats (an int is fine, a bool is
not), switches are strict bools, and every number has a sane upper bound (README: "Limits").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictFloat, StrictInt

Int = StrictInt
Float = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Bool = StrictBool

MAX_TOKENS = 131_072  # the largest context windows today
MAX_SAMPLES = 1000
MAX_REPEAT = 64  # repetitions of a space block: pipelines are a handful of layers deep
MAX_LAYERS = 256
MAX_TIMEOUT_S = 86_400.0
MAX_REPLICAS = 256
MAX_WORKERS = 1024
MAX_TRIALS = 100_000
MAX_EXAMPLES = 10_000_000
MAX_SEED = 2**32 - 1
MAX_RANGE = 10**12  # |lo|, |hi| of a search-space range
