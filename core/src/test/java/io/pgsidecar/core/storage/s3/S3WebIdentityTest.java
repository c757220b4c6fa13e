package io.pgsidecar.core.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.pgsidecar.core.config.PgsidecarConfig;
import io.pgsidecar.core.config.PgsidecarConfig.S3Auth;
import io.pgsidecar.core.config.PgsidecarConfig.S3Encryption;
import io.pgsidecar.core.storage.ObjectMetadata;
import io.pgsidecar.core.storage.retry.RetryPolicy;
import io.pgsidecar.testkit.FaultProxy;
import io.pgsidecar.testkit.S3Server;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code storage.s3.auth: default} with a web identity token file, as EKS sets it for IRSA: the
 * SDK's default chain exchanges the projected token at STS (a small local STS here) for session
 * credentials, and the driver's requests are signed with them. The variables EKS sets
 * (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN) are given as the SDK's equivalent system
 * properties, since a test cannot set its own environment.
 */
class S3WebIdentityTest {

  @TempDir
  Path dir;

  @Test
  void projectedTokenIsExchangedAtStsAndItsSessionCredentialsSignTheRequests() throws Exception {
    List<Map<String, String>> stsCalls = new CopyOnWriteArrayList<>();
    HttpServer sts = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    sts.createContext("/", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Map<String, String> form = new java.util.TreeMap<>();
      for (String pair : body.split("&")) {
        int eq = pair.indexOf('=');
        form.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
      stsCalls.add(form);
      byte[] reply = """
          <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
            <AssumeRoleWithWebIdentityResult>
              <Credentials>
                <AccessKeyId>ASIAWEBIDENTITYTEST</AccessKeyId>
                <SecretAccessKey>web-identity-secret</SecretAccessKey>
                <SessionToken>web-identity-session-token</SessionToken>
                <Expiration>2099-01-01T00:00:00Z</Expiration>
              </Credentials>
              <SubjectFromWebIdentityToken>system:serviceaccount:db:pg</SubjectFromWebIdentityToken>
              <AssumedRoleUser>
                <Arn>arn:aws:sts::123456789012:assumed-role/pgsidecar/pod</Arn>
                <AssumedRoleId>AROATEST:pod</AssumedRoleId>
              </AssumedRoleUser>
            </AssumeRoleWithWebIdentityResult>
            <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
          </AssumeRoleWithWebIdentityResponse>
          """.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "text/xml");
      exchange.sendResponseHeaders(200, reply.length);
      exchange.getResponseBody().write(reply);
      exchange.close();
    });
    sts.start();
    Path token = S3Server.writeSecret(dir.resolve("token"), "eyJhbGciOiJSUzI1NiJ9.projected.sa-token");
    Map<String, String> props = Map.of(
        "aws.webIdentityTokenFile", token.toString(),
        "aws.roleArn", "arn:aws:iam::123456789012:role/pgsidecar",
        "aws.roleSessionName", "pgsidecar-test",
        "aws.region", S3Server.REGION,
        "aws.endpointUrlSts", "http://127.0.0.1:" + sts.getAddress().getPort());
    props.forEach(System::setProperty);
    try (var server = S3Server.s3Mock(); var proxy = FaultProxy.to(server.port())) {
      var cfg = new PgsidecarConfig.S3(server.bucket(),
          Optional.of("http://127.0.0.1:" + proxy.port()), Optional.empty(), true, S3Auth.DEFAULT,
          Optional.empty(), Optional.empty(), S3Encryption.NONE, Optional.empty(),
          Optional.empty(), 5L << 20, 2);
      try (var s = S3Storage.open(cfg, "", Duration.ofSeconds(30), RetryPolicy.defaults())) {
        s.probe();
        s.create("wal/1", new ByteArrayInputStream(new byte[] {7}),
            () -> new ObjectMetadata("07", 1, "none", ""));
        assertEquals(1, s.stat("wal/1").orElseThrow().storedSize());
      }
      assertEquals(1, stsCalls.size(), stsCalls.toString());
      assertEquals("AssumeRoleWithWebIdentity", stsCalls.get(0).get("Action"));
      assertEquals("eyJhbGciOiJSUzI1NiJ9.projected.sa-token", stsCalls.get(0).get("WebIdentityToken"));
      assertEquals("arn:aws:iam::123456789012:role/pgsidecar", stsCalls.get(0).get("RoleArn"));
      assertTrue(!proxy.requests().isEmpty());
      for (var request : proxy.requests()) {
        var headers = request.headers().stream().map(String::toLowerCase).toList();
        assertTrue(headers.stream().anyMatch(h -> h.startsWith("authorization: aws4-hmac-sha256"
            + " credential=asiawebidentitytest/")), request + " " + headers);
        assertTrue(headers.contains("x-amz-security-token: web-identity-session-token"),
            request + " " + headers);
      }
    } finally {
      props.keySet().forEach(System::clearProperty);
      sts.stop(0);
    }
  }
}
