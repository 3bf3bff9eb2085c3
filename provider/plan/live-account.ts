/**
 * What Composio has for one connected account, as the decisions read it (adoption checks, what is
 * recorded, the preview's notes). The API's own shape is read into this at the edge.
 * Credentials are write-only: only their keys come back.
 */
export interface RemoteAccount {
  id: string;
  alias: string | null;
  /**
   * The alias held characters a terminal would act on (control, bidirectional): `alias` is then its
   * escaped display, not the text Composio has, and must never be sent back as the alias.
   */
  aliasEscaped?: true;
  status: string;
  statusReason?: string;
  isDisabled: boolean;
  toolkit: string;
  userId: string;
  authScheme: string;
  credentialKeys: string[];
}
