/**
 * Verification of what the repository holds, in the domain's words and without any HTTP: every
 * recorded checksum read back ({@link io.pgsidecar.core.verify.StoredObjects}), the WAL archive's
 * continuity per timeline ({@link io.pgsidecar.core.verify.WalVerifier}), the segment size the
 * archive was written with ({@link io.pgsidecar.core.repo.SegmentSize}) and the scratch
 * directories a verification unpacks into ({@link io.pgsidecar.core.verify.Scratch}). Failures
 * are {@link io.pgsidecar.core.job.JobException}s: {@code VERIFICATION_FAILED} when the stored
 * data is wrong, {@code NOT_FOUND} when the named thing does not exist,
 * {@code STORAGE_UNAVAILABLE} when the repository cannot be read.
 */
package io.pgsidecar.core.verify;
