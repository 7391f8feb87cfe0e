"""The pure core: the meeting state machine, its commands and events, the wire protocol's parser and the
text rules. No sockets, no awaits, no storage: everything here is tested without a server."""
