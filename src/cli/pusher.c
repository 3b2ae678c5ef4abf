/*
 * Owns who is pushing, for the push hooks' audit log: the name the server
 * gives (GitLab, Gitea, gitolite, an HTTP server), else, over SSH with
 * sshd's ExposeAuthInfo, the comment of the authorized_keys line whose key
 * logged in: on a plain SSH server that is the only name a person has.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define AUTH_MAX ((size_t)1 << 20)

/* The next whitespace-separated token of *p, or NULL at the end. */
static const char *token(const char **p, size_t *len)
{
	const char *s = *p, *start;

	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s)
		return NULL;
	start = s;
	while (*s && !isspace((unsigned char)*s))
		s++;
	*len = (size_t)(s - start);
	*p = s;
	return start;
}

/* The base64 key of the first "publickey TYPE KEY" line of sshd's
 * SSH_USER_AUTH file (caller frees), or NULL. */
static char *logged_in_key(const char *auth_path)
{
	kl_buf text = KL_BUF_INIT;
	kl_error err = { 0 };
	char *key = NULL, *line, *save = NULL;

	if (kl_read_file(auth_path, "SSH_USER_AUTH", AUTH_MAX, &text,
			 &err) < 0) {
		kl_error_clear(&err);
		return NULL;
	}
	for (line = strtok_r(text.data ? text.data : "", "\n", &save);
	     line && !key; line = strtok_r(NULL, "\n", &save)) {
		const char *p = line, *t;
		size_t n;

		if (!(t = token(&p, &n)) || n != 9 || strncmp(t, "publickey", 9))
			continue;
		if (token(&p, &n) && (t = token(&p, &n)))
			key = kl_xstrndup(t, n);
	}
	kl_buf_free(&text);
	return key;
}

/* The comment after key on its line of authorized_keys, or NULL. */
static char *key_comment(const char *keys_path, const char *key)
{
	kl_buf text = KL_BUF_INIT;
	kl_error err = { 0 };
	char *comment = NULL, *line, *save = NULL;

	if (kl_read_file(keys_path, "authorized_keys", AUTH_MAX, &text,
			 &err) < 0) {
		kl_error_clear(&err);
		return NULL;
	}
	for (line = strtok_r(text.data ? text.data : "", "\n", &save);
	     line && !comment; line = strtok_r(NULL, "\n", &save)) {
		const char *p = line, *t;
		size_t n;

		while ((t = token(&p, &n)))
			if (n == strlen(key) && memcmp(t, key, n) == 0)
				break;
		if (!t)
			continue;
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p)
			comment = kl_xstrdup(p);
	}
	kl_buf_free(&text);
	return comment;
}

static char *ssh_key_comment(void)
{
	const char *auth = getenv("SSH_USER_AUTH"), *home = getenv("HOME");
	kl_buf path = KL_BUF_INIT;
	char *key, *comment = NULL;

	if (!auth || !*auth || !home || !*home || !(key = logged_in_key(auth)))
		return NULL;
	kl_buf_printf(&path, "%s/.ssh/authorized_keys", home);
	comment = key_comment(path.data, key);
	kl_buf_free(&path);
	free(key);
	return comment;
}

char *cli_pusher(void)
{
	static const char *const vars[] = {
		"KEYLEAK_PUSHER", "GL_USERNAME", "GITEA_PUSHER_NAME", "GL_USER",
		"REMOTE_USER", NULL
	};
	size_t i;

	for (i = 0; vars[i]; i++)
		if (getenv(vars[i]) && *getenv(vars[i]))
			return kl_xstrdup(getenv(vars[i]));
	return ssh_key_comment();
}
