"""``python -m loyalty_monitor``: the same CLI as the ``loyalty-monitor`` script."""

from loyalty_monitor.cli import main

main()
