// The Powertools logger every orchestration handler shares (level from POWERTOOLS_LOG_LEVEL).
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'cloudkeep-orchestration' });
