// The fixed vocabulary of policies: providers, resource types, id and region formats, repository schemes.

export const AWS_RESOURCE_TYPES = ['ec2-instance', 'ebs-volume', 'rds-instance', 'aurora-cluster'] as const;
export const AZURE_RESOURCE_TYPES = ['azure-vm', 'azure-disk', 'azure-sql'] as const;
export const RESOURCE_TYPES = [...AWS_RESOURCE_TYPES, ...AZURE_RESOURCE_TYPES] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];
export type Provider = 'aws' | 'azure';
export const REPOSITORY_SCHEMES = ['file:', 's3:', 'azblob:', 'scaleout:'] as const;

export const AWS_ACCOUNT_ID = /^\d{12}$/;
export const AZURE_SUBSCRIPTION_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const AWS_REGION = /^(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob)-[a-z]+-\d{1,2}$/;
export const AZURE_LOCATION = /^[a-z][a-z0-9]{2,40}$/;

export const PROVIDER_RESOURCE_TYPES: Record<Provider, readonly ResourceType[]> = { aws: AWS_RESOURCE_TYPES, azure: AZURE_RESOURCE_TYPES };
