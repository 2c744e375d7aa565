// JSON text out; see json_styled.h. Each rule below is jsoncpp 1.9's
// BuiltStyledStreamWriter's (json_writer.cpp); the unit test compares the
// two on values of every kind.
#include "issuer/json/json_styled.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace acmezone::issuer {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_u16(std::string& out, unsigned cp) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out += kHex[(cp >> shift) & 0xf];
    }
}

// jsoncpp's reading of the UTF-8 sequence at `s` (advanced to its last
// byte): lenient, U+FFFD for what it cannot decode.
unsigned codepoint(const char*& s, const char* end) {
    constexpr unsigned kReplacement = 0xFFFD;
    const auto byte = [](char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)); };
    const unsigned first = byte(*s);
    if (first < 0x80) {
        return first;
    }
    if (first < 0xE0) {
        if (end - s < 2) {
            return kReplacement;
        }
        const unsigned cp = ((first & 0x1F) << 6) | (byte(s[1]) & 0x3F);
        s += 1;
        return cp < 0x80 ? kReplacement : cp;
    }
    if (first < 0xF0) {
        if (end - s < 3) {
            return kReplacement;
        }
        const unsigned cp =
            ((first & 0x0F) << 12) | ((byte(s[1]) & 0x3F) << 6) | (byte(s[2]) & 0x3F);
        s += 2;
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            return kReplacement;
        }
        return cp < 0x800 ? kReplacement : cp;
    }
    if (first < 0xF8) {
        if (end - s < 4) {
            return kReplacement;
        }
        const unsigned cp = ((first & 0x07) << 18) | ((byte(s[1]) & 0x3F) << 12) |
                            ((byte(s[2]) & 0x3F) << 6) | (byte(s[3]) & 0x3F);
        s += 3;
        return cp < 0x10000 ? kReplacement : cp;
    }
    return kReplacement;
}

bool plain(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
}

void append_quoted(std::string& out, const char* begin, const char* end) {
    out += '"';
    if (std::all_of(begin, end, plain)) {
        out.append(begin, end);
        out += '"';
        return;
    }
    for (const char* c = begin; c != end; ++c) {
        switch (*c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default: {
                unsigned cp = codepoint(c, end);
                if (cp >= 0x20 && cp <= 0x7F) {
                    out += static_cast<char>(cp);
                } else if (cp < 0x10000) {
                    append_u16(out, cp);
                } else {
                    cp -= 0x10000;
                    append_u16(out, (cp >> 10) + 0xD800);
                    append_u16(out, (cp & 0x3FF) + 0xDC00);
                }
            }
        }
    }
    out += '"';
}

void append_real(std::string& out, double value, unsigned precision) {
    if (!std::isfinite(value)) {
        out += std::isnan(value) ? "null" : value < 0 ? "-1e+9999" : "1e+9999";
        return;
    }
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, "%.*g", static_cast<int>(precision), value);
    std::string text(buf, static_cast<std::size_t>(std::clamp(n, 0, 63)));
    std::replace(text.begin(), text.end(), ',', '.');  // a decimal comma, as jsoncpp mends it
    if (text.find('.') == std::string::npos && text.find('e') == std::string::npos) {
        text += ".0";
    }
    out += text;
}

class Writer {
  public:
    Writer(std::string& out, const StyledJsonOptions& options) : out_(out), options_(options) {
        for (unsigned i = 0; i < options.depth; ++i) {
            indent_ += options.indentation;
        }
    }

    void value(const Json::Value& v) {
        switch (v.type()) {
            case Json::nullValue:
                out_ += "null";
                break;
            case Json::intValue:
                out_ += std::to_string(v.asLargestInt());
                break;
            case Json::uintValue:
                out_ += std::to_string(v.asLargestUInt());
                break;
            case Json::realValue:
                append_real(out_, v.asDouble(), std::min(options_.precision, 17U));
                break;
            case Json::stringValue: {
                const char* begin = nullptr;
                const char* end = nullptr;
                if (v.getString(&begin, &end)) {
                    append_quoted(out_, begin, end);
                }
                break;
            }
            case Json::booleanValue:
                out_ += v.asBool() ? "true" : "false";
                break;
            case Json::arrayValue:
                array(v);
                break;
            case Json::objectValue:
                object(v);
                break;
        }
    }

  private:
    // jsoncpp's writeWithIndent: a new line unless one was just started.
    void start_line() {
        if (!indented_) {
            out_ += '\n';
            out_ += indent_;
        }
        indented_ = false;
    }
    // An object's or array's brackets: "{}" or "[]" alone when it is empty
    // (false: nothing inside to write), else the opening one on a line of
    // its own and the closing one on a new line at the same depth.
    bool open(const Json::Value& v, char bracket) {
        if (v.empty()) {
            out_ += bracket;
            out_ += bracket == '{' ? '}' : ']';
            return false;
        }
        start_line();
        out_ += bracket;
        indent_ += options_.indentation;
        return true;
    }
    void close(char bracket) {
        indent_.resize(indent_.size() - options_.indentation.size());
        start_line();
        out_ += bracket;
    }

    void object(const Json::Value& v) {
        if (!open(v, '{')) {
            return;
        }
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (it != v.begin()) {
                out_ += ',';
            }
            const char* end = nullptr;
            const char* name = it.memberName(&end);
            start_line();
            append_quoted(out_, name, end);
            out_ += " : ";
            value(*it);
        }
        close('}');
    }

    // Each element on a line of its own; an object or array element opens
    // on that line.
    void array(const Json::Value& v) {
        if (!open(v, '[')) {
            return;
        }
        for (Json::ArrayIndex i = 0; i < v.size(); ++i) {
            if (i > 0) {
                out_ += ',';
            }
            start_line();
            indented_ = true;
            value(v[i]);
            indented_ = false;
        }
        close(']');
    }

    std::string& out_;
    const StyledJsonOptions& options_;
    std::string indent_;
    bool indented_ = true;  // the root's first line is the caller's
};

}  // namespace

void append_styled_json(std::string& out, const Json::Value& value,
                        const StyledJsonOptions& options) {
    Writer(out, options).value(value);
}

}  // namespace acmezone::issuer
