package io.pgsidecar.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.config.PgsidecarConfig.StorageType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keys {@code storage.s3.*}: parsed into {@link PgsidecarConfig.S3}, checked together. */
class S3ConfigTest {

  @TempDir
  Path dir;

  @Test
  void s3KeysFromYamlAndEnvironmentReachTheRecord() throws IOException {
    Path f = Files.writeString(dir.resolve("c.yaml"), """
        cluster: main
        storage:
          type: s3
          prefix: team-a
          s3:
            bucket: pg-backups
            endpoint: https://fsn1.your-objectstorage.com
            region: eu-central
            path-style: true
            auth: static
            access-key-id-file: /secrets/s3/id
            secret-access-key-file: /secrets/s3/secret
            server-side-encryption: aws-kms
            kms-key-id: alias/pg
        """);
    PgsidecarConfig c = ConfigLoader.load(Optional.of(f), Map.of(
        "PGSIDECAR_STORAGE_S3_STORAGE_CLASS", "STANDARD_IA", "PGSIDECAR_STORAGE_S3_PART_SIZE", "16MiB"));
    assertEquals(StorageType.S3, c.storage().type());
    var s3 = c.storage().s3();
    assertEquals(new PgsidecarConfig.S3("pg-backups", Optional.of("https://fsn1.your-objectstorage.com"),
        Optional.of("eu-central"), true, S3Auth.STATIC, Optional.of(Path.of("/secrets/s3/id")),
        Optional.of(Path.of("/secrets/s3/secret")), S3Encryption.AWS_KMS, Optional.of("alias/pg"),
        Optional.of("STANDARD_IA"), 16L << 20, 4), s3);
  }

  @Test
  void defaultsAreTheAwsChainAndEightMiBParts() {
    PgsidecarConfig c = ConfigLoader.load(Optional.empty(), Map.of("PGSIDECAR_CLUSTER", "main",
        "PGSIDECAR_STORAGE_TYPE", "s3", "PGSIDECAR_STORAGE_S3_BUCKET", "b-1"));
    var s3 = c.storage().s3();
    assertEquals(S3Auth.DEFAULT, s3.auth());
    assertEquals(false, s3.pathStyle());
    assertEquals(S3Encryption.NONE, s3.serverSideEncryption());
    assertEquals(8L << 20, s3.partSize());
    assertEquals(Optional.empty(), s3.endpoint());
  }

  @Test
  void bucketAndStaticKeyFilesAreRequired() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(),
        Map.of("PGSIDECAR_CLUSTER", "main", "PGSIDECAR_STORAGE_TYPE", "s3",
            "PGSIDECAR_STORAGE_S3_AUTH", "static", "PGSIDECAR_STORAGE_S3_PART_SIZE", "1MiB")));
    assertEquals(List.of(
        "storage.s3.part-size: expected a size such as 8MiB (units B, KiB, MiB, GiB, TiB) from"
            + " 5MiB to 2000MiB, got '1MiB' (from PGSIDECAR_STORAGE_S3_PART_SIZE)",
        "storage.s3.bucket is required when storage.type is s3: set it in the YAML file or with"
            + " PGSIDECAR_STORAGE_S3_BUCKET",
        "storage.s3.access-key-id-file is required when storage.s3.auth is static: set it in the"
            + " YAML file or with PGSIDECAR_STORAGE_S3_ACCESS_KEY_ID_FILE",
        "storage.s3.secret-access-key-file is required when storage.s3.auth is static: set it in"
            + " the YAML file or with PGSIDECAR_STORAGE_S3_SECRET_ACCESS_KEY_FILE"), e.errors());
  }
}
