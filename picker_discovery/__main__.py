import sys

from picker_discovery._cli import main

sys.exit(main())
