import sys

from dr_adapters.cli import main

sys.exit(main())
