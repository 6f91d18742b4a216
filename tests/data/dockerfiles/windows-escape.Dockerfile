# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
RUN New-Item -ItemType Directory C:\app ; `
    # a comment inside the continuation is skipped
    Set-Content C:\app\hello.txt 'hi'
COPY testfile.txt c:\
WORKDIR C:\app
USER ContainerUser
EXPOSE 8080/tcp
CMD ["powershell", "-File", "C:\\app\\serve.ps1"]
