"""IIS configuration files holding every kind of secret the collectors must blank, written for
these tests in the shapes Microsoft documents (not copied): the IIS configuration reference
(MicrosoftDocs/iis-docs: iisClientCertificateMappingAuthentication one-to-one and many-to-one
``<add>``, anonymousAuthentication, applicationPools processModel, virtualDirectory credentials,
appcmd's single-quoted values), ASP.NET's web.config (connectionStrings, machineKey, appSettings,
forms credentials, sessionState) and protected configuration (RsaProtectedConfigurationProvider
``EncryptedData``/``CipherValue``). Every secret value contains ``S3CRET`` so a test can look for
any that survived."""

from __future__ import annotations

APPLICATION_HOST = """\
<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <applicationPools>
      <add name="OrdersPool" managedRuntimeVersion="v4.0">
        <processModel identityType="SpecificUser" userName="CONTOSO\\svc-orders"
                      password="[enc:IISWASOnlyCngProvider:S3CRETpool==:enc]" />
      </add>
    </applicationPools>
    <sites>
      <site name="Orders" id="2">
        <application path="/" applicationPool="OrdersPool">
          <virtualDirectory path="/" physicalPath="\\\\fs01\\orders" userName="CONTOSO\\fs"
                            password='S3CRET-unc' />
        </application>
        <bindings>
          <binding protocol="https" bindingInformation="*:443:" sslFlags="0" />
        </bindings>
      </site>
    </sites>
  </system.applicationHost>
  <system.webServer>
    <security>
      <authentication>
        <anonymousAuthentication enabled="true" userName="IUSR" password="S3CRET-anon" />
      </authentication>
    </security>
  </system.webServer>
  <location path="Orders">
    <system.webServer>
      <security>
        <access sslFlags="Ssl, SslNegotiateCert, SslRequireCert" />
        <authentication>
          <iisClientCertificateMappingAuthentication enabled="true"
              oneToOneCertificateMappingsEnabled="true" manyToOneCertificateMappingsEnabled="true">
            <oneToOneMappings>
              <add enabled="true" userName="CONTOSO\\alice" password="S3CRET-one"
                   certificate="MIIBszCCAVmgAwIBAgIUQUJD" />
              <add userName='CONTOSO\\bob' password='S3CRET-single' certificate='QUJD' />
              <add userName="CONTOSO\\carol" PassWord = "S3CRET&quot;quoted'mixed" />
            </oneToOneMappings>
            <manyToOneMappings>
              <add name="Contoso Employees" enabled="true" permissionMode="Allow"
                   userName="CONTOSO\\employees" password="S3CRET
spanning-a-line">
                <rules>
                  <add certificateField="Subject" certificateSubField="O" matchCriteria="Contoso" />
                </rules>
              </add>
            </manyToOneMappings>
          </iisClientCertificateMappingAuthentication>
        </authentication>
      </security>
      <httpProtocol>
        <customHeaders>
          <add name="X-Api-Key" value="S3CRET-header" />
        </customHeaders>
      </httpProtocol>
    </system.webServer>
  </location>
</configuration>
"""

WEB_CONFIG = """\
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <connectionStrings>
    <add name="Orders" providerName="System.Data.SqlClient"
         connectionString="Data Source=sql01;Initial Catalog=Orders;User ID=orders;
                           Password=S3CRET-db;" />
    <add name='Audit' connectionString='Server=sql02;Uid=audit;Pwd=S3CRET-audit' />
  </connectionStrings>
  <appSettings>
    <add key="StripeSecretKey" value="sk_live_S3CRET" />
    <add key="PartnerApi" value='S3CRET-partner > with a bracket' />
    <add key="ida:ClientSecret" value="S3CRET-aad" />
  </appSettings>
  <system.web>
    <machineKey validationKey="S3CRETA1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4E5F6"
                decryptionKey="S3CRETF6E5D4C3B2A1F6E5D4C3B2A1" validation="HMACSHA256" />
    <authentication mode="Forms">
      <forms loginUrl="/login">
        <credentials passwordFormat="SHA1">
          <user name="admin" password="S3CRET5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" />
        </credentials>
      </forms>
    </authentication>
    <sessionState mode="SQLServer"
                  sqlConnectionString="data source=sql03;user id=s;password=S3CRET-session" />
  </system.web>
  <system.net>
    <mailSettings>
      <smtp from="orders@contoso.test">
        <network host="smtp.contoso.test" userName="orders" password="S3CRET-smtp" />
      </smtp>
    </mailSettings>
  </system.net>
  <system.webServer>
    <security>
      <access sslFlags="Ssl, SslNegotiateCert" />
    </security>
  </system.webServer>
  <secureAppSettings configProtectionProvider="RsaProtectedConfigurationProvider">
    <EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element"
      xmlns="http://www.w3.org/2001/04/xmlenc#">
      <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc" />
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
        <EncryptedKey xmlns="http://www.w3.org/2001/04/xmlenc#">
          <EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5" />
          <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">
            <KeyName>Rsa Key</KeyName>
          </KeyInfo>
          <CipherData>
            <CipherValue>S3CRETkey+base64/AAAA
BBBB==</CipherValue>
          </CipherData>
        </EncryptedKey>
      </KeyInfo>
      <CipherData>
        <CipherValue>S3CRETsection+base64==</CipherValue>
      </CipherData>
    </EncryptedData>
  </secureAppSettings>
</configuration>
"""
