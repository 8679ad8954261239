from chatproto.client import main

raise SystemExit(main())
