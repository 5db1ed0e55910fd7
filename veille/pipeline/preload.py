"""Imported once by the worker processes' forkserver, before it forks any worker.

Whatever is loaded here is shared by every worker (copy-on-write) instead of loaded by each:
the language model alone is 74 MB a process, justext's stop lists 19 MB. `gc.freeze()` keeps
the collector from writing to those objects' headers in the workers, which would copy their
pages one by one.
"""

import gc

from trafilatura.external import jt_stoplist_init

import veille.dedupe  # noqa: F401  (the worker's stages, imported once)
import veille.parse  # noqa: F401
import veille.pipeline.pages  # noqa: F401
from veille.extract.language import warm_up

warm_up()
jt_stoplist_init()
gc.freeze()
