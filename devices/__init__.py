"""What a device says: payload models, codecs and the catalogue of device kinds."""
