/* auditctl without a kernel: the test bed checks the syntax of our audit rules with Debian's own auditctl
 * (its parser), never loading them. LD_PRELOAD'ed, this replaces every libaudit call that talks to the
 * kernel with a success that sends nothing; auditctl also runs in a new user namespace, where the kernel
 * refuses audit requests anyway. "offline: N rules accepted" on stderr tells how many rules parsed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
static int added;
static void report(void) { fprintf(stderr, "offline: %d rules accepted\n", added); }
static int registered;
int audit_open(void) { if (!registered++) atexit(report); return open("/dev/null", O_RDWR); }
void audit_close(int fd) { (void)fd; }
int audit_is_enabled(int fd) { (void)fd; return 1; }
int audit_can_control(void) { return 1; }
int audit_request_status(int fd) { (void)fd; return 1; }
int audit_get_reply(int fd, void *rep, int block, int peek) { (void)fd; (void)rep; (void)block; (void)peek; return 0; }
int audit_send(int fd, int type, const void *data, unsigned int size) { (void)fd; (void)type; (void)data; (void)size; return 1; }
int audit_add_rule_data(int fd, void *rule, int flags, int action) { (void)fd; (void)rule; (void)flags; (void)action; added++; return 1; }
int audit_delete_rule_data(int fd, void *rule, int flags, int action) { (void)fd; (void)rule; (void)flags; (void)action; return 1; }
int audit_set_backlog_limit(int fd, unsigned int v) { (void)fd; (void)v; return 1; }
int audit_set_backlog_wait_time(int fd, unsigned int v) { (void)fd; (void)v; return 1; }
int audit_set_enabled(int fd, unsigned int v) { (void)fd; (void)v; return 1; }
int audit_set_failure(int fd, unsigned int v) { (void)fd; (void)v; return 1; }
int audit_set_rate_limit(int fd, unsigned int v) { (void)fd; (void)v; return 1; }
int audit_set_loginuid_immutable(int fd) { (void)fd; return 1; }
int audit_request_features(int fd) { (void)fd; return 1; }
int audit_request_rules_list_data(int fd) { (void)fd; return 1; }
int audit_reset_lost(int fd) { (void)fd; return 1; }
int audit_reset_backlog_wait_time_actual(int fd) { (void)fd; return 1; }
int audit_trim_subtrees(int fd) { (void)fd; return 1; }
int audit_make_equivalent(int fd, const char *a, const char *b) { (void)fd; (void)a; (void)b; return 1; }
int audit_log_user_message(int fd, int type, const char *m, const char *h, const char *a, const char *t, int r) { (void)fd; (void)type; (void)m; (void)h; (void)a; (void)t; (void)r; return 1; }
