"""The shared core: what every other package may use and what uses no other package.

* :mod:`core.mention` - the :class:`~core.mention.Mention` every collector yields and everything downstream
  consumes;
* :mod:`core.clock` - the UTC clock (``now_utc``) and ``utc``, which refuses naive times;
* :mod:`core.text` - Russian text: tokens, ё-folding, normal forms (one pymorphy3 analyser), brand matching;
* :mod:`core.errors` - what a remote service can do to us, as one tree, and the one HTTP status mapper;
* :mod:`core.scrub` - the one scrubber: secrets removed from any text (errors, logs, status, exports).

It is the floor of the layers drawn in ``docs/architecture.md``: it imports no product package.
"""
