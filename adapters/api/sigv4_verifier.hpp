#pragma once
// SigV4Verifier — server-side AWS Signature Version 4 check of a received request (header auth:
// `Authorization: AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
// SignedHeaders=..., Signature=...`), for `trailkit serve` so the stock AWS CLI and SDKs work
// against it unchanged.
//
// The expected signature is recomputed with the client-side signer (s3/sigv4.hpp, byte-identical
// to botocore) over exactly the headers the client's SignedHeaders lists, the request's own path,
// query and x-amz-date, and the SHA-256 of the body AS RECEIVED — so a body changed after signing
// fails, and one canonicalizer serves both sides (no second copy to diverge).
//
// What is refused, and with which code (the JSON-service codes botocore/AWS use; all HTTP 403):
//   MissingAuthenticationTokenException  no Authorization header
//   IncompleteSignatureException         Authorization not a well-formed AWS4-HMAC-SHA256 header;
//                                        no X-Amz-Date; `host` or `x-amz-date` not signed; a listed
//                                        header missing; an x-amz-* header present but not signed
//                                        (a proxy or attacker could add it unnoticed)
//   UnrecognizedClientException          unknown access key id, or an x-amz-security-token
//                                        (only long-term keys are configured)
//   InvalidSignatureException            wrong service or region in the credential scope; scope date
//                                        != X-Amz-Date's date; X-Amz-Date more than 15 minutes from
//                                        the server clock ("Signature expired: ... is now earlier
//                                        than ..." / "Signature not yet current: ..."), the AWS
//                                        replay window; x-amz-content-sha256 != SHA-256 of the body;
//                                        signature mismatch (compared in constant time, CRYPTO_memcmp)
//
// Secrets: the secret keys only enter HMAC (via s3::sign); messages never contain the secret, the
// Authorization header or the signature; access key ids appear only redacted.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailkit::api {

/// A received HTTP request as the verifier needs it. Views into the caller's request.
/// Thread contract: plain value type.
struct ReceivedRequest {
  std::string_view method;  ///< "POST"
  std::string_view target;  ///< raw request target as received: "/" or "/path?query"
  /// Every header as received, in order, names in any case (repeated names kept).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

/// The verdict. On failure `code`/`message` are what the client gets (safe to return and log).
/// Thread contract: plain value type.
struct VerificationResult {
  bool ok = false;
  int http_status = 403;
  std::string code;           ///< e.g. "InvalidSignatureException"; "" when ok
  std::string message;
  std::string access_key_id;  ///< the verified key id (ok only); log it redacted
};

/// Verifies SigV4 header authentication against a fixed set of long-term keys.
/// Thread contract: immutable after construction; verify() may run on several threads at once.
class SigV4Verifier {
 public:
  /// AWS's replay window: X-Amz-Date may be this far before or after the server clock.
  static constexpr std::int64_t kMaxClockSkewSeconds = 15 * 60;

  /// `secrets`: access key id -> secret access key. `service`: the signing name the credential
  /// scope must carry ("cloudtrail"). Throws std::invalid_argument when `secrets` is empty or has
  /// an empty id or secret, or `service` is empty.
  SigV4Verifier(std::map<std::string, std::string> secrets, std::string service);

  /// Checks `request` at server time `now` (epoch seconds). `region`: the region the endpoint
  /// serves; the credential scope must name it ("" = accept any region). Never throws except
  /// std::bad_alloc; no I/O.
  VerificationResult verify(const ReceivedRequest& request, std::string_view region, std::int64_t now) const;

 private:
  std::map<std::string, std::string> secrets_;
  std::string service_;
};

/// `YYYYMMDDTHHMMSSZ` (the X-Amz-Date format) of `epoch_seconds`. Thread-safe (pure).
std::string format_amz_date(std::int64_t epoch_seconds);
/// Epoch seconds of a strict `YYYYMMDDTHHMMSSZ`; false for anything else (incl. out-of-range
/// fields). Thread-safe (pure).
bool parse_amz_date(std::string_view text, std::int64_t& epoch_seconds) noexcept;

}  // namespace trailkit::api
