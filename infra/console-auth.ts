// Who may use the console: a Cognito user pool (administrators create users; TOTP MFA required;
// Plus-plan threat protection) whose `accounts` attribute lists the account ids a user may access.
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

/** The custom attribute (`custom:accounts` in tokens): comma-separated account ids; only administrators can write it. */
export const ACCOUNTS_ATTRIBUTE = 'accounts';

export interface ConsoleUserPoolProps {
  /**
   * Prefix of the Cognito hosted sign-in domain (`<prefix>.auth.<region>.amazoncognito.com`), unique per region.
   * @default 'cloudkeep-<account id>'
   */
  readonly domainPrefix?: string;
}

export class ConsoleUserPool extends Construct {
  readonly userPool: cognito.UserPool;
  readonly domain: cognito.UserPoolDomain;

  constructor(scope: Construct, id: string, props: ConsoleUserPoolProps = {}) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: 'cloudkeep-console',
      // Users are created by an administrator, who also sets their accounts: nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: { [ACCOUNTS_ATTRIBUTE]: new cognito.StringAttribute({ minLen: 1, maxLen: 2048, mutable: true }) },
      passwordPolicy: { minLength: 14, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      // The console starts restores and changes backup policies: a second factor is always required.
      // TOTP apps only: SMS needs an SNS role and spend limits and is open to SIM swapping.
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // Plus plan: threat protection blocks compromised credentials and risky sign-ins (a few users: cents a month).
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      userInvitation: {
        emailSubject: 'Your Cloudkeep console account',
        emailBody: 'Sign in to the Cloudkeep console as {username} with the temporary password {####}, then set up an authenticator app.',
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.domain = this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: props.domainPrefix ?? `cloudkeep-${Aws.ACCOUNT_ID}` } });
  }

  /**
   * The console's app client: a public client (no secret), authorization code with PKCE through the
   * hosted sign-in page, or SRP from a sign-in form. Users may read but never write their accounts.
   */
  addConsoleClient(consoleUrl: string): cognito.UserPoolClient {
    return this.userPool.addClient('ConsoleClient', {
      userPoolClientName: 'cloudkeep-console',
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
        callbackUrls: [`${consoleUrl}/`],
        logoutUrls: [`${consoleUrl}/`],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      readAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true, emailVerified: true }).withCustomAttributes(ACCOUNTS_ATTRIBUTE),
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ email: true }),
    });
  }

  /** The hosted sign-in base URL (authorize, token and logout endpoints live under it). */
  get signInUrl(): string {
    return this.domain.baseUrl();
  }
}
