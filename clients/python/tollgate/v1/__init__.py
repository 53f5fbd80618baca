"""Messages and gRPC stubs generated from proto/tollgate/v1 by `npm run generate`; never edited."""
