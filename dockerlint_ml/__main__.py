from dockerlint_ml.cli import main

raise SystemExit(main())
