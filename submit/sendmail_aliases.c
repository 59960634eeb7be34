/* sendmail -bi (newaliases): rebuild the aliases map through lib/aliases. */
#include "sendmail.h"

int sm_newaliases(void)
{
	sm_die(SM_EX_UNAVAILABLE, "newaliases is not available yet");
}
