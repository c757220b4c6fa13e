package io.pgsidecar.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small Microsoft Entra ID stand-in over TLS on 127.0.0.1, for the azure-identity code path:
 * <ul>
 *   <li>{@code GET /{tenant}/v2.0/.well-known/openid-configuration}: the authority's discovery
 *       document MSAL reads first;
 *   <li>{@code POST /{tenant}/oauth2/v2.0/token}: the client-credentials grant with a client
 *       assertion, as workload identity sends it. The assertion (the projected service-account
 *       token the AKS webhook mounts) must be a JWT from {@link #FEDERATED_ISSUER} for
 *       {@link #FEDERATED_SUBJECT} with audience {@link #FEDERATED_AUDIENCE}, unexpired, for
 *       {@link #CLIENT_ID} in {@link #TENANT_ID}; otherwise it answers with Entra's error codes
 *       (AADSTS700024 expired, AADSTS700212 audience, AADSTS70021 issuer/subject);
 *   <li>{@code GET /msi/token} (App Service style, {@code IDENTITY_ENDPOINT} with the
 *       {@code X-IDENTITY-HEADER} secret {@link #IDENTITY_HEADER}): managed identity.
 *   <li>{@code GET /metadata/identity/oauth2/token?api-version=...&resource=...[&client_id=...]}
 *       with the header {@code Metadata: true}, over plain HTTP on a port of its own
 *       ({@link #imdsHost()}): the Azure Instance Metadata Service as a VM or an AKS node pool's
 *       kubelet identity offers it at {@code http://169.254.169.254}. MSAL (under
 *       azure-identity's {@code ManagedIdentityCredential}) sends it there unless
 *       {@code AZURE_POD_IDENTITY_AUTHORITY_HOST} names another host. It answers as IMDS does: 400
 *       {@code Required metadata header not specified} without the header, 400
 *       {@code Identity not found} for a client id other than {@link #CLIENT_ID} (a user-assigned
 *       identity not assigned to the node), and without a client id it stands for the node's
 *       system-assigned identity. {@link #refuseImds(boolean)} makes it refuse every request
 *       (a node whose identity was removed).
 * </ul>
 * Access tokens are RS256 JWTs for {@code https://storage.azure.com} issued by
 * {@code https://sts.windows.net/{tenant}/} (what Azurite's {@code --oauth basic} checks, with
 * the lifetime) and live {@link #tokenLifetime(Duration)} (one hour unless set).
 */
public final class TokenIssuer implements AutoCloseable {

  public static final String TENANT_ID = "72f988bf-0000-4000-8000-00000000a11c";
  public static final String CLIENT_ID = "0b5a1c5e-1111-4111-8111-00000000c11e";
  public static final String FEDERATED_ISSUER = "https://oidc.aks.test.invalid/cluster-1/";
  public static final String FEDERATED_SUBJECT = "system:serviceaccount:db:pgsidecar";
  public static final String FEDERATED_AUDIENCE = "api://AzureADTokenExchange";
  public static final String STORAGE_RESOURCE = "https://storage.azure.com";
  public static final String IDENTITY_HEADER = "identity-header-secret-0123";

  private final TestTls tls;
  private final HttpsServer server;
  private final HttpServer imds;
  private volatile boolean imdsRefuses;
  private final List<String> imdsRequests = new CopyOnWriteArrayList<>();
  private final AtomicReference<Duration> lifetime = new AtomicReference<>(Duration.ofHours(1));
  private final List<Instant> issued = new CopyOnWriteArrayList<>();
  private final List<String> refused = new CopyOnWriteArrayList<>();

  private TokenIssuer(TestTls tls) throws IOException {
    this.tls = tls;
    server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    server.setHttpsConfigurator(new HttpsConfigurator(tls.serverContext()));
    server.setExecutor(Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "token-issuer");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/", this::handle);
    server.start();
    imds = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    imds.setExecutor(server.getExecutor());
    imds.createContext("/", this::handleImds);
    imds.start();
  }

  /** Starts the issuer; the JVM trusts it through {@link TestTls#get()}. */
  public static TokenIssuer start() throws IOException {
    return new TokenIssuer(TestTls.get());
  }

  /** {@code https://127.0.0.1:PORT/}: what {@code AZURE_AUTHORITY_HOST} is set to. */
  public String authorityHost() {
    return "https://127.0.0.1:" + server.getAddress().getPort() + "/";
  }

  /** The App Service style managed identity endpoint ({@code IDENTITY_ENDPOINT}). */
  public String identityEndpoint() {
    return "https://127.0.0.1:" + server.getAddress().getPort() + "/msi/token";
  }

  /**
   * {@code http://127.0.0.1:PORT} (no trailing slash: MSAL appends
   * {@code /metadata/identity/oauth2/token}): what {@code AZURE_POD_IDENTITY_AUTHORITY_HOST} is set
   * to, standing for {@code http://169.254.169.254}.
   */
  public String imdsHost() {
    return "http://127.0.0.1:" + imds.getAddress().getPort();
  }

  /** With {@code true}, the IMDS endpoint answers every request 400 Identity not found. */
  public void refuseImds(boolean refuse) {
    imdsRefuses = refuse;
  }

  /**
   * The IMDS requests received, oldest first, each as {@code client_id=ID} (or
   * {@code client_id=(none)}) and {@code resource=...}.
   */
  public List<String> imdsRequests() {
    return List.copyOf(imdsRequests);
  }

  /** Lifetime of the access tokens issued from now on. */
  public void tokenLifetime(Duration d) {
    lifetime.set(d);
  }

  /** When each access token was issued, oldest first. */
  public List<Instant> issued() {
    return List.copyOf(issued);
  }

  /** The error descriptions of refused grants, oldest first. */
  public List<String> refused() {
    return List.copyOf(refused);
  }

  /**
   * A projected service-account token as kubelet writes it to {@code AZURE_FEDERATED_TOKEN_FILE}:
   * a JWT from {@link #FEDERATED_ISSUER} for {@link #FEDERATED_SUBJECT}, valid until
   * {@code expiry}, for {@code audience}.
   */
  public String federatedToken(Instant expiry, String audience) {
    long now = Instant.now().getEpochSecond();
    return jwt(Map.of("iss", FEDERATED_ISSUER, "sub", FEDERATED_SUBJECT, "aud", audience,
        "iat", Math.min(now, expiry.getEpochSecond() - 1),
        "nbf", Math.min(now, expiry.getEpochSecond() - 1), "exp", expiry.getEpochSecond()));
  }

  /** A valid federated token for an hour. */
  public String federatedToken() {
    return federatedToken(Instant.now().plus(Duration.ofHours(1)), FEDERATED_AUDIENCE);
  }

  @Override
  public void close() {
    imds.stop(0);
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      // Entra echoes the correlation id; MSAL logs a line for every answer that does not
      String correlation = ex.getRequestHeaders().getFirst("client-request-id");
      if (correlation != null) {
        ex.getResponseHeaders().set("client-request-id", correlation);
      }
      String path = ex.getRequestURI().getPath();
      String tenantPrefix = "/" + TENANT_ID;
      if (ex.getRequestMethod().equals("GET")
          && path.equals(tenantPrefix + "/v2.0/.well-known/openid-configuration")) {
        String base = authorityHost() + TENANT_ID;
        reply(ex, 200, json(Map.of(
            "token_endpoint", base + "/oauth2/v2.0/token",
            "authorization_endpoint", base + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint", base + "/oauth2/v2.0/devicecode",
            "end_session_endpoint", base + "/oauth2/v2.0/logout",
            "issuer", base + "/v2.0",
            "jwks_uri", base + "/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported",
                List.of("client_secret_post", "private_key_jwt", "client_secret_basic"))));
      } else if (ex.getRequestMethod().equals("POST")
          && path.matches("/[^/]+/oauth2/v2.0/token")) {
        token(ex, path.substring(1, path.indexOf('/', 1)));
      } else if (ex.getRequestMethod().equals("GET") && path.equals("/msi/token")) {
        managedIdentity(ex);
      } else {
        reply(ex, 404, error("invalid_request", "AADSTS90002",
            "the test issuer does not serve " + ex.getRequestMethod() + " " + path));
      }
    }
  }

  private void token(HttpExchange ex, String tenant) throws IOException {
    Map<String, String> form = form(new String(ex.getRequestBody().readAllBytes(),
        StandardCharsets.UTF_8));
    if (!TENANT_ID.equals(tenant)) {
      refuse(ex, 400, "invalid_request", "AADSTS90002", "Tenant '" + tenant + "' not found.");
      return;
    }
    if (!CLIENT_ID.equals(form.get("client_id"))) {
      refuse(ex, 400, "unauthorized_client", "AADSTS700016", "Application with identifier '"
          + form.get("client_id") + "' was not found in the directory '" + tenant + "'.");
      return;
    }
    if (!"client_credentials".equals(form.get("grant_type"))
        || !"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            .equals(form.get("client_assertion_type"))) {
      refuse(ex, 400, "invalid_request", "AADSTS900144", "expected a client_credentials grant "
          + "with a jwt-bearer client_assertion, got " + form.keySet());
      return;
    }
    String scope = form.getOrDefault("scope", "");
    if (!List.of(scope.split(" ")).contains(STORAGE_RESOURCE + "/.default")) {
      refuse(ex, 400, "invalid_scope", "AADSTS70011", "The provided value for the input "
          + "parameter 'scope' is not valid: '" + scope + "'.");
      return;
    }
    Map<String, String> claims = claims(form.getOrDefault("client_assertion", ""));
    if (claims == null) {
      refuse(ex, 400, "invalid_client", "AADSTS50027", "JWT token is invalid or malformed.");
      return;
    }
    long now = Instant.now().getEpochSecond();
    long exp = Long.parseLong(claims.getOrDefault("exp", "0"));
    if (exp <= now) {
      refuse(ex, 400, "invalid_client", "AADSTS700024", "Client assertion is not within its "
          + "valid time range. Current time: " + Instant.ofEpochSecond(now) + ", assertion valid "
          + "to: " + Instant.ofEpochSecond(exp) + ".");
      return;
    }
    if (!FEDERATED_AUDIENCE.equals(claims.get("aud"))) {
      refuse(ex, 400, "invalid_client", "AADSTS700212", "No matching federated identity record "
          + "found for presented assertion audience '" + claims.get("aud") + "'.");
      return;
    }
    if (!FEDERATED_ISSUER.equals(claims.get("iss")) || !FEDERATED_SUBJECT.equals(claims.get("sub"))) {
      refuse(ex, 400, "invalid_client", "AADSTS70021", "No matching federated identity record "
          + "found for presented assertion. Assertion Issuer: '" + claims.get("iss")
          + "'. Assertion Subject: '" + claims.get("sub") + "'.");
      return;
    }
    Duration life = lifetime.get();
    reply(ex, 200, json(Map.of("token_type", "Bearer", "expires_in", life.toSeconds(),
        "ext_expires_in", life.toSeconds(), "access_token", accessToken(life))));
  }

  private void managedIdentity(HttpExchange ex) throws IOException {
    Map<String, String> query = form(ex.getRequestURI().getRawQuery());
    if (!IDENTITY_HEADER.equals(ex.getRequestHeaders().getFirst("X-IDENTITY-HEADER"))) {
      refuse(ex, 401, "invalid_request", "MSI401", "missing or wrong X-IDENTITY-HEADER");
      return;
    }
    String resource = query.getOrDefault("resource", "");
    if (!resource.replaceAll("/$", "").equals(STORAGE_RESOURCE)) {
      refuse(ex, 400, "invalid_resource", "MSI400", "resource '" + resource + "' is not "
          + STORAGE_RESOURCE);
      return;
    }
    String clientId = query.get("client_id");
    if (clientId != null && !clientId.equals(CLIENT_ID)) {
      refuse(ex, 400, "invalid_request", "MSI400", "no managed identity with client id '"
          + clientId + "' is assigned to this host");
      return;
    }
    Duration life = lifetime.get();
    reply(ex, 200, json(Map.of("token_type", "Bearer", "resource", STORAGE_RESOURCE,
        "client_id", CLIENT_ID, "access_token", accessToken(life),
        "expires_on", Long.toString(Instant.now().plus(life).getEpochSecond()))));
  }

  private void handleImds(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      if (!ex.getRequestMethod().equals("GET") || !path.equals("/metadata/identity/oauth2/token")) {
        reply(ex, 404, json(Map.of("error", "not_found", "error_description",
            "the test IMDS does not serve " + ex.getRequestMethod() + " " + path)));
        return;
      }
      Map<String, String> query = form(ex.getRequestURI().getRawQuery());
      String clientId = query.get("client_id");
      String resource = query.getOrDefault("resource", "");
      imdsRequests.add("client_id=" + (clientId == null ? "(none)" : clientId) + " resource="
          + resource);
      if (!"true".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Metadata"))) {
        imdsRefuse(ex, "Required metadata header not specified");
      } else if (!query.containsKey("api-version")) {
        imdsRefuse(ex, "Required query variable 'api-version' is missing");
      } else if (!resource.replaceAll("/$", "").equals(STORAGE_RESOURCE)) {
        imdsRefuse(ex, "resource '" + resource + "' is not " + STORAGE_RESOURCE);
      } else if (imdsRefuses || query.containsKey("mi_res_id") || query.containsKey("object_id")
          || (clientId != null && !clientId.equals(CLIENT_ID))) {
        imdsRefuse(ex, "Identity not found");
      } else {
        Duration life = lifetime.get();
        Instant now = Instant.now();
        reply(ex, 200, json(Map.of("token_type", "Bearer", "resource", STORAGE_RESOURCE + "/",
            "client_id", CLIENT_ID, "access_token", accessToken(life),
            "expires_in", Long.toString(life.toSeconds()),
            "ext_expires_in", Long.toString(life.toSeconds()),
            "not_before", Long.toString(now.getEpochSecond()),
            "expires_on", Long.toString(now.plus(life).getEpochSecond()))));
      }
    }
  }

  private void imdsRefuse(HttpExchange ex, String text) throws IOException {
    refused.add("IMDS400: " + text);
    reply(ex, 400, json(Map.of("error", "invalid_request", "error_description", text)));
  }

  /**
   * Azure Storage accepts a token for a clock-skew allowance (minutes) past its {@code exp};
   * Azurite accepts none, and the SDK uses a token until its own clock passes
   * {@code expires_in}, so a request sent in the token's last milliseconds would be refused by
   * Azurite and by no real service. The JWT's {@code exp} therefore lies this much past
   * {@code expires_in}: far less than Azure's allowance, and far less than the lifetimes tests
   * choose, so a token the SDK failed to renew is still refused.
   */
  public static final Duration SKEW_ALLOWANCE = Duration.ofSeconds(2);

  private String accessToken(Duration life) {
    Instant now = Instant.now();
    issued.add(now);
    long iat = now.getEpochSecond();
    return jwt(Map.of("aud", STORAGE_RESOURCE, "iss", "https://sts.windows.net/" + TENANT_ID + "/",
        "iat", iat - 1, "nbf", iat - 1,
        "exp", now.plus(life).plus(SKEW_ALLOWANCE).getEpochSecond() + 1,
        "appid", CLIENT_ID, "oid", UUID.nameUUIDFromBytes(CLIENT_ID.getBytes()).toString(),
        "tid", TENANT_ID, "ver", "1.0"));
  }

  private void refuse(HttpExchange ex, int status, String error, String code, String text)
      throws IOException {
    refused.add(code + ": " + text);
    reply(ex, status, error(error, code, text));
  }

  private static String error(String error, String code, String text) {
    return json(Map.of("error", error, "error_description", code + ": " + text,
        "error_codes", List.of(Long.parseLong(code.replaceAll("\\D", "0"))),
        "timestamp", Instant.now().toString(), "trace_id", UUID.randomUUID().toString(),
        "correlation_id", UUID.randomUUID().toString()));
  }

  private static void reply(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  // ---- JWT and JSON, just enough for the claims this class writes ------------------------------

  private String jwt(Map<String, Object> claims) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String head = b64.encodeToString(json(Map.of("alg", "RS256", "typ", "JWT", "kid", "test"))
        .getBytes(StandardCharsets.UTF_8));
    String body = b64.encodeToString(json(claims).getBytes(StandardCharsets.UTF_8));
    String signed = head + "." + body;
    return signed + "." + b64.encodeToString(tls.sign(signed.getBytes(StandardCharsets.US_ASCII)));
  }

  private static final Pattern CLAIM =
      Pattern.compile("\"([a-z_]+)\":(?:\"((?:[^\"\\\\]|\\\\.)*)\"|(-?\\d+))");

  /** The top-level string and number claims of a JWT, or null when it is not one. */
  private static Map<String, String> claims(String jwt) {
    String[] parts = jwt.split("\\.");
    if (parts.length != 3) {
      return null;
    }
    String payload;
    try {
      payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    Map<String, String> claims = new HashMap<>();
    Matcher m = CLAIM.matcher(payload);
    while (m.find()) {
      claims.put(m.group(1), m.group(2) != null ? m.group(2) : m.group(3));
    }
    return claims;
  }

  private static Map<String, String> form(String body) {
    Map<String, String> form = new HashMap<>();
    if (body == null || body.isEmpty()) {
      return form;
    }
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      form.put(k, v);
    }
    return form;
  }

  static String json(Map<String, ?> map) {
    List<String> fields = new ArrayList<>();
    map.forEach((k, v) -> fields.add(quote(k) + ":" + value(v)));
    return "{" + String.join(",", fields) + "}";
  }

  private static String value(Object v) {
    if (v instanceof Number || v instanceof Boolean) {
      return v.toString();
    }
    if (v instanceof List<?> list) {
      List<String> items = new ArrayList<>();
      list.forEach(i -> items.add(value(i)));
      return "[" + String.join(",", items) + "]";
    }
    return quote(String.valueOf(v));
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  @Override
  public String toString() {
    return "TokenIssuer[" + authorityHost() + TENANT_ID + "]";
  }
}
