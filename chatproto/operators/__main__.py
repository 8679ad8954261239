from chatproto.operators.cli import main

raise SystemExit(main())
