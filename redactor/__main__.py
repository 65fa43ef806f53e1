from redactor.cli.main import main

raise SystemExit(main())
