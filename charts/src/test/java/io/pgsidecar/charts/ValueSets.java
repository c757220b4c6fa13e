package io.pgsidecar.charts;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** The value sets every structural test renders: each storage kind, restore, fallbacks, options. */
final class ValueSets {

  private ValueSets() {}

  static final String ACCOUNT = "storage.azure.account=db1backups";
  static final String CLIENT_ID = "serviceAccount.azureClientId=11111111-2222-3333-4444-555555555555";

  static final String S3 = "storage.type=s3";
  static final String BUCKET = "storage.s3.bucket=db1-backups";
  static final String ROLE_ARN = "serviceAccount.awsRoleArn=arn:aws:iam::123456789012:role/pgsidecar-db1";

  static final Map<String, String[]> ALL = new LinkedHashMap<>();

  static {
    ALL.put("defaults", new String[] {});
    ALL.put("workload identity", new String[] {ACCOUNT, CLIENT_ID});
    ALL.put("filesystem storage", new String[] {"storage.type=filesystem"});
    ALL.put("filesystem on an existing claim", new String[] {"storage.type=filesystem",
        "storage.filesystem.existingClaim=backups", "storage.filesystem.path=/backups"});
    ALL.put("SAS from an existing Secret", new String[] {ACCOUNT, "storage.azure.auth=sas",
        "storage.azure.existingSecret=azure-sas"});
    ALL.put("account key from an existing Secret", new String[] {ACCOUNT,
        "storage.azure.auth=shared-key", "storage.azure.existingSecret=azure-key",
        "storage.azure.secretKey=key"});
    ALL.put("connection string from an existing Secret", new String[] {
        "storage.azure.auth=connection-string", "storage.azure.existingSecret=azurite"});
    ALL.put("S3 with IRSA", new String[] {S3, BUCKET, "storage.s3.region=eu-central-1",
        ROLE_ARN, "storage.s3.serverSideEncryption=aws-kms",
        "storage.s3.kmsKeyId=arn:aws:kms:eu-central-1:123456789012:key/abcd",
        "storage.s3.storageClass=STANDARD_IA"});
    ALL.put("S3-compatible with keys from an existing Secret", new String[] {S3, BUCKET,
        "storage.s3.endpoint=https://fsn1.your-objectstorage.com", "storage.s3.region=fsn1",
        "storage.s3.pathStyle=true", "storage.s3.auth=static", "storage.s3.existingSecret=hetzner",
        "storage.s3.accessKeyIdKey=id", "storage.s3.secretAccessKeyKey=secret"});
    ALL.put("restore enabled", new String[] {ACCOUNT, CLIENT_ID, "restore.enabled=true",
        "restore.targetTime=2026-11-22T02:15:00Z", "restore.fromCluster=olddb"});
    ALL.put("agent as a plain container", new String[] {ACCOUNT, "agent.nativeSidecar=false"});
    ALL.put("metrics off", new String[] {ACCOUNT, "metrics.enabled=false"});
    ALL.put("encryption from a Secret", new String[] {ACCOUNT, "encryption.existingSecret=pgp",
        "encryption.publicKeys[0]=public.asc", "encryption.secretKeys[0]=secret.asc",
        "encryption.secretKeyPassphraseKey=secret-passphrase"});
    ALL.put("restore drill CronJob", new String[] {ACCOUNT, CLIENT_ID, "drill.enabled=true"});
    ALL.put("restore drill CronJob on S3 with keys and encryption", new String[] {S3, BUCKET,
        "storage.s3.auth=static", "storage.s3.existingSecret=hetzner", "drill.enabled=true",
        "drill.image.repository=registry.example/postgres", "drill.scratchSizeLimit=20Gi",
        "encryption.existingSecret=pgp", "encryption.publicKeys[0]=public.asc",
        "encryption.secretKeys[0]=secret.asc"});
    ALL.put("everything changed", new String[] {ACCOUNT, CLIENT_ID, "cluster=orders",
        "storage.prefix=prod/eu", "image.tag=9.9.9", "postgresql.image.tag=15.10",
        "postgresql.settings.max_connections=200", "postgresql.readOnlyRootFilesystem=false",
        "backup.schedule=", "dump.schedule=", "dump.include[0]=app", "compression.level=9",
        "networkPolicy.enabled=false", "serviceAccount.create=false", "serviceAccount.name=shared",
        "agent.config.wal.lookahead-max=32", "retention.schedule=0 5 * * *",
        "retention.baseBackups.window=14d", "retention.baseBackups.gfs.monthly=6",
        "retention.dumps.keepNewest=3"});
  }

  static Stream<Arguments> all() {
    return ALL.entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
  }
}
