// CDK entry point (cdk.json runs `node infra/app.ts`): builds the Cloudkeep stacks from context and synthesizes.
import { App } from 'aws-cdk-lib';
import { buildCloudkeepApp, configFromContext } from './cloudkeep-app.ts';

const app = new App();
buildCloudkeepApp(app, configFromContext(app));
app.synth();
