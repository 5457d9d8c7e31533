"""The wiring: the one place that sees every layer (docs/architecture.md).

:mod:`bot.service.build` builds the object graph, :mod:`bot.service.run` runs it as
``planbot run``, :mod:`bot.service.demo` runs it on local servers, :mod:`bot.service.cli` is
the ``planbot`` command line.
"""
