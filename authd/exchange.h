/* exchange: SASL exchanges in authd's protocol (authd(8): MECHS, SASL, STEP).
 *
 * One exchange at a time per connection: SASL starts one (ending any other),
 * each STEP answers the last challenge, and the exchange ends with OK, NO or
 * TEMPFAIL, a cancel (STEP *), any other request, or the connection's end. */
#ifndef ESTAFETTE_AUTHD_EXCHANGE_H
#define ESTAFETTE_AUTHD_EXCHANGE_H

struct session;
struct request;

#define EXCHANGE_MAX_STEPS 4 /* more than any mechanism here needs */

/* "OK mechs=PLAIN,LOGIN,...": the mechanisms authd.conf enables. */
void exchange_mechs(struct session *s);
void exchange_start(struct session *s, struct request *r);
void exchange_step(struct session *s, struct request *r);
/* Forget the exchange under way, if any (wipes its secrets). */
void exchange_end(struct session *s);

#endif
