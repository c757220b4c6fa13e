package io.pgsidecar.core.storage;

import java.time.Instant;

/** A stored object: its key, stored (encoded) size, when it was written, and its metadata. */
public record ObjectInfo(String key, long storedSize, Instant lastModified, ObjectMetadata metadata) {}
