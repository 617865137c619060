import sys

from picker_discovery.cli import main

sys.exit(main())
