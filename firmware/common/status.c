/* A tiny formatter so status messages need neither printf nor a heap. */
#include "hil/status.h"

static size_t put_char(char *out, size_t cap, size_t pos, char c)
{
    if (pos + 1 < cap) {
        out[pos] = c;
    }
    return pos + 1;
}

static size_t put_str(char *out, size_t cap, size_t pos, const char *s)
{
    if (s == NULL) {
        s = "(null)";
    }
    while (*s != '\0') {
        pos = put_char(out, cap, pos, *s++);
    }
    return pos;
}

static size_t put_unsigned(char *out, size_t cap, size_t pos, uint32_t v, unsigned base)
{
    char digits[10];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v != 0 && n < (int)sizeof digits);
    while (n > 0) {
        pos = put_char(out, cap, pos, digits[--n]);
    }
    return pos;
}

void hil_vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
    size_t pos = 0;
    if (cap == 0) {
        return;
    }
    for (const char *p = fmt; *p != '\0'; p++) {
        if (*p != '%' || p[1] == '\0') {
            pos = put_char(out, cap, pos, *p);
            continue;
        }
        switch (*++p) {
        case 's':
            pos = put_str(out, cap, pos, va_arg(ap, const char *));
            break;
        case 'd': {
            int32_t v = va_arg(ap, int32_t);
            uint32_t mag = (uint32_t)v;
            if (v < 0) {
                pos = put_char(out, cap, pos, '-');
                mag = 0u - mag;
            }
            pos = put_unsigned(out, cap, pos, mag, 10);
            break;
        }
        case 'u':
            pos = put_unsigned(out, cap, pos, va_arg(ap, uint32_t), 10);
            break;
        case 'x':
            pos = put_unsigned(out, cap, pos, va_arg(ap, uint32_t), 16);
            break;
        default:
            pos = put_char(out, cap, pos, *p);
            break;
        }
    }
    out[pos < cap ? pos : cap - 1] = '\0';
}

hil_status hil_fail(hil_msg *msg, hil_status status, const char *fmt, ...)
{
    if (msg != NULL) {
        va_list ap;
        va_start(ap, fmt);
        hil_vformat(msg->text, sizeof msg->text, fmt, ap);
        va_end(ap);
    }
    return status;
}
