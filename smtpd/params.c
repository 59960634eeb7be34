/* smtpd params: ESMTP parameters (RFC 5321 4.1.2 esmtp-param), split but not
 * interpreted: keyword = ALPHA/DIGIT then ALPHA/DIGIT/"-", value = printable
 * bytes except '=' and SP (UTF-8 allowed; the caller checks values). */
#include "smtpd.h"

#include <string.h>
#include <strings.h>

static int key_char(unsigned char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && c == '-';
}

static int val_char(unsigned char c)
{
	return c > ' ' && c != '=' && c != 0x7f;
}

int params_split(const char *s, size_t len, struct esmtp_param *out, size_t max, size_t *n)
{
	size_t i = 0;
	*n = 0;
	while (i < len) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		if (*n == max)
			return -1;
		struct esmtp_param *p = &out[(*n)++];
		p->key = s + i;
		p->val = NULL;
		p->vlen = 0;
		while (i < len && key_char((unsigned char)s[i], s + i == p->key))
			i++;
		p->klen = (size_t)(s + i - p->key);
		if (p->klen == 0)
			return -1;
		if (i < len && s[i] == '=') {
			p->val = s + ++i;
			while (i < len && val_char((unsigned char)s[i]))
				i++;
			p->vlen = (size_t)(s + i - p->val);
			if (p->vlen == 0)
				return -1;
		}
		if (i < len && s[i] != ' ')
			return -1;
	}
	return 0;
}

int param_is(const struct esmtp_param *p, const char *key)
{
	return strlen(key) == p->klen && strncasecmp(key, p->key, p->klen) == 0;
}
