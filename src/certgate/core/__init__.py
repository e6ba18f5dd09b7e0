"""The pure core: values in, values out. No files, sockets, environment or clock."""
