// Masking the secrets an error text may carry before the ledger stores it: the ledger is read
// by everyone who may run `offpeak-ledger status`, the credentials of sources are not.
//
// The idea: secrets reach an error text in a few shapes only, and each shape says where the
// secret ends. A URL's userinfo ends at '@'; a parameter's value (password=, token=, and the
// like, in a query string, a conninfo or a message) ends at the next separator; a header's
// value (Authorization: Bearer ...) ends at the line's end. Each is replaced by "********",
// keeping the name, so the text still says which credential was refused.

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "ledger.h"
#include "pg.h"

namespace offpeak {

namespace {

constexpr std::string_view kMask = "********";

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// scheme://user:PASSWORD@host: the password masked.
std::string mask_url_passwords(std::string text) {
  for (std::size_t pos = text.find("://"); pos != std::string::npos;
       pos = text.find("://", pos + 3)) {
    const std::size_t start = pos + 3;
    const std::size_t end = text.find_first_of("/?# \t\n\"'", start);
    const std::string_view authority =
        std::string_view(text).substr(start, end == std::string::npos ? end : end - start);
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    const auto colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos) continue;
    text.replace(start + colon + 1, at - colon - 1, kMask);
  }
  return text;
}

// Whether a parameter named `name` (lower case) holds a secret.
bool secret_name(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kParts = {"password", "passwd",    "secret",
                                                             "token",    "apikey",    "api_key",
                                                             "api-key",  "signature", "credential"};
  if (name == "key" || name == "sig" || name == "pwd") return true;
  return std::any_of(kParts.begin(), kParts.end(),
                     [&](std::string_view part) { return name.find(part) != std::string::npos; });
}

// NAME=VALUE and NAME: VALUE where NAME is a secret's: the value masked. A header's value
// (after ':') runs to the end of its line, a parameter's to the next separator.
std::string mask_parameters(std::string text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_name_char(text[i])) {
      out += text[i++];
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && is_name_char(text[j])) ++j;
    std::string name;
    for (std::size_t k = i; k < j; ++k) name += lower(text[k]);
    out.append(text, i, j - i);
    i = j;
    std::size_t k = i;
    while (k < text.size() && text[k] == ' ') ++k;
    if (k >= text.size() || (text[k] != '=' && text[k] != ':')) continue;
    const bool header = text[k] == ':';
    if (!(secret_name(name) || (header && (name == "authorization" || name == "cookie")))) continue;
    if (header && text.compare(k, 3, "://") == 0) continue;  // a URL's scheme
    ++k;
    while (k < text.size() && text[k] == ' ') ++k;
    std::size_t end = k;
    if (header) {
      end = text.find_first_of("\r\n", k);
    } else if (k < text.size() && (text[k] == '\'' || text[k] == '"')) {
      end = text.find(text[k], k + 1);
      end = end == std::string::npos ? end : end + 1;
    } else {
      end = text.find_first_of("&; \t\r\n,\"'", k);
    }
    if (end == std::string::npos) end = text.size();
    if (end == k) continue;
    out.append(text, i, k - i);
    out += kMask;
    i = end;
  }
  return out;
}

}  // namespace

std::string mask_secrets(std::string text, std::string_view conninfo) {
  text = redact_passwords(std::move(text), conninfo);
  return mask_parameters(mask_url_passwords(std::move(text)));
}

}  // namespace offpeak
