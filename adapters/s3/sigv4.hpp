#pragma once
// AWS Signature Version 4 (the `sign` stage of S3 delivery), on OpenSSL, no AWS SDK.
//
// The oracle is botocore's `SigV4Auth` / `S3SigV4Auth` (botocore/auth.py): tests prove the canonical
// request, string to sign and Authorization are byte-identical to botocore's on the published aws4
// test-suite cases and on thousands of random S3 requests (tests/adapters/s3/sigv4_test.cpp).
//
// Canonicalisation, exactly as botocore does it:
// - Path. S3 (`s3_rules`): the decoded path is URI-encoded ONCE ('/' kept) and used as is — no
//   dot-segment removal, "//" kept (object keys may contain "./", "../", "//"; double-encoding a
//   key is the classic bug: aws-sdk-java-v2#1709 ':', soto#601 '@'). Other services: the path is
//   encoded once for the wire, then RFC 3986 dot segments and empty segments are removed and the
//   result encoded again (aws4 test-suite rules: "/example space/" -> "/example%2520space/").
// - Query: names and values URI-encoded ('/' encoded too), pairs sorted by encoded name, then by
//   encoded value; a parameter without value is "name=".
// - Headers: names lower-cased; values trimmed and every internal whitespace run collapsed to
//   one space, where "whitespace" is Python's str.split() set (ASCII \t\n\v\f\r\x1c-\x1f and
//   space, plus U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000)
//   so folded (obs-fold "\r\n ") values sign like botocore; repeated names are joined with ','
//   in the order given; names sorted bytewise.
// - Which headers are signed: every header given EXCEPT botocore's SIGNED_HEADERS_BLACKLIST
//   (connection, expect, keep-alive, proxy-authenticate, proxy-authorization, te, trailer,
//   transfer-encoding, upgrade, user-agent, x-amzn-trace-id) — hop-by-hop headers a proxy may
//   rewrite, and headers clients vary per retry. The blacklisted headers are still sent.
// - Headers the signer owns: a caller's `authorization` and `x-amz-date` are ignored (replaced),
//   so are `x-amz-security-token` when the credentials carry a token and `x-amz-content-sha256`
//   under S3 rules (botocore deletes and re-adds them). Under non-S3 rules a caller-given
//   `x-amz-content-sha256` replaces `payload_hash` in the canonical request (botocore does so).
// - Deliberate difference: botocore rewrites a caller's `Date` header and then omits
//   `x-amz-date`; we sign `Date` as given and always add `x-amz-date` (servers prefer it).
//
// Secrets: the secret key only ever enters HMAC. The session token is a signed header, so it is in
// `SignedRequest::canonical_request` and `added_headers`; the signature is in `authorization`.
// Never log those three fields, nor `signature`; log `redact_access_key()` / `describe()` output.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailkit::s3 {

/// AWS credentials. Deliberately has no operator<< and no to_string: use describe(), which shows
/// only the redacted access key id. Thread contract: a plain value; const use is thread-safe.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< empty for long-term keys

  /// True when either half of the key pair is missing (nothing can be signed).
  bool empty() const noexcept { return access_key_id.empty() || secret_access_key.empty(); }
};

/// "AKIA…WXYZ": the first four and last four characters of an access key id, for messages.
/// Ids shorter than 12 characters (LocalStack's "test") keep only their last two, never the whole
/// id. Thread-safe (pure).
std::string redact_access_key(std::string_view access_key_id);

/// "access_key_id=AKIA…WXYZ secret_access_key=<redacted> session_token=<none|redacted>": the only
/// description of credentials that may reach a log or an error message. Thread-safe (pure).
std::string describe(const Credentials& credentials);

/// What is signed. All strings are raw bytes; paths and query are DECODED (the signer encodes).
struct SigningRequest {
  std::string method;  ///< "PUT"
  std::string path;    ///< decoded, e.g. "/bucket/AWSLogs/a b+c"; empty means "/"
  /// Decoded name/value pairs, any order, duplicates allowed; "" is a parameter without value.
  std::vector<std::pair<std::string, std::string>> query;
  /// Headers as they will be sent, any case. Must include "host" (the signer cannot derive it:
  /// without one the server answers SignatureDoesNotMatch). Names must be HTTP tokens.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Lowercase hex SHA-256 of the body (computed by the caller while spooling), or
  /// "UNSIGNED-PAYLOAD". Empty body: sha256_hex("").
  std::string payload_hash;
};

struct SigningParams {
  std::string region;   ///< "us-east-1"
  std::string service;  ///< "s3", "cloudtrail"
  std::int64_t time = 0;  ///< epoch seconds (UTC) -> x-amz-date YYYYMMDDTHHMMSSZ and the scope date
  /// S3: no path normalisation, path encoded once, `x-amz-content-sha256` added and signed.
  /// Otherwise the generic aws4 test-suite rules (see the file comment).
  bool s3_rules = true;
  /// Server side (adapters/api/sigv4_verifier): sign every header given, skipping none of the
  /// blacklist above, because there the client's `SignedHeaders` list decides what was signed and
  /// the verifier passes exactly those headers. Signers leave it false.
  bool sign_every_given_header = false;
};

struct SignedRequest {
  /// For tests and debugging only. `canonical_request` holds the session token; `signature` is
  /// derived from the secret. Never log either.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  /// The full Authorization header value (contains the signature: never log).
  std::string authorization;
  /// Headers the caller must add to the request, in this order: x-amz-date,
  /// x-amz-security-token (only with a session token), x-amz-content-sha256 (S3 rules only).
  /// The caller must also drop its own `authorization`/`x-amz-*` headers of the same names.
  std::vector<std::pair<std::string, std::string>> added_headers;
  /// The path exactly as the HTTP client must send it (encoded once, not normalised).
  std::string encoded_path;
  /// The canonical query string; also valid on the wire ("" when there is no query).
  std::string encoded_query;
};

/// Signs `request`. Never throws except std::bad_alloc; no locks, no I/O; a few microseconds.
/// Thread-safe (pure function of its arguments).
SignedRequest sign(const SigningRequest& request, const Credentials& credentials, const SigningParams& params);

/// RFC 3986 encoding: unreserved `A-Z a-z 0-9 - . _ ~` kept, '/' kept when `keep_slash`, every other
/// byte as %XX with upper-case hex (Python `quote(s, safe='-_.~' or '/~')`). Thread-safe (pure).
std::string uri_encode(std::string_view s, bool keep_slash);

/// Lowercase hex SHA-256 of `data`. Thread-safe (pure).
std::string sha256_hex(std::string_view data);

/// The parts of a SigV4 Authorization header, for the server side (our CloudTrail endpoint).
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;     ///< scope date, YYYYMMDD
  std::string region;
  std::string service;
  std::string signature;  ///< 64 lowercase hex digits
  std::vector<std::string> signed_headers;  ///< as listed, lower-case
};

/// Parses "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=<64 hex>". The three components may come in any order,
/// each exactly once, separated by ',' with optional spaces. Returns nullopt for anything else
/// (the caller answers 403 without echoing the header). Thread-safe (pure).
std::optional<ParsedAuthorization> parse_authorization(std::string_view header_value);

/// Compares in time that depends only on the lengths, not on where the bytes differ — for
/// checking a received signature against the expected one. Thread-safe (pure).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace trailkit::s3
